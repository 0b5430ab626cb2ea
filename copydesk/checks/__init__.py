"""Checks on a generated section's text: one module per check, each returning `Finding`s
(`findings`); `suite` runs those a content type turns on."""
