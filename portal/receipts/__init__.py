"""Receipt numbers, PDF rendering, signed verification codes."""
