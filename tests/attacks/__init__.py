"""The attack suite: every CVE class that hit JWT libraries, as a refusal with its exact class."""
