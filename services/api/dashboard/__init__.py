"""The dashboard (`GET /`, contract section 8) and the self-hosted `/docs`:
a static page over the API's own endpoints, every asset served by the API."""
