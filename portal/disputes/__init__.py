"""Disputes: a resident's complaint about a paid bill, answered by the agency and resolved by
finance within working-day deadlines."""
