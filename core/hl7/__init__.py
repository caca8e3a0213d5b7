"""HL7 v2 lab results in: tolerant parsing of what analyzers send, strict typing of what is stored."""
