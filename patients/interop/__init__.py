"""Data in and out: FHIR R4 (read, write) and pharmacy fill files."""
