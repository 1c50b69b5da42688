"""What the API and the pages share at the HTTP level: absolute URLs and security headers."""
