"""JWKS documents, remote key sets, publishing, discovery and the HTTP transport."""
