"""Model backends: text generation (transformers, OpenAI-compatible servers) and images."""
