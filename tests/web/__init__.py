"""HTTP helpers around the token: bearer extraction, cookies, CSRF, network rules, rate limits."""
