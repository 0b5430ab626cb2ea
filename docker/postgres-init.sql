-- The Prefect server keeps its own database next to Copydesk's.
CREATE DATABASE prefect OWNER copydesk;
