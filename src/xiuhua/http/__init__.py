"""What the API and the pages share at the HTTP level: request dependencies (``deps``), problem
responses (``problems``), the cases' wire format (``schemas``) and its translation to and from
the services (``cases``, ``presenters``), absolute URLs and security headers. ``api/`` and
``web/`` import this package and never each other."""
