"""Bills: those held by the portal itself (loaded by agency clerks) and the resident bill pages."""
