"""Payments taken at a service hall's counter by its cashiers, in cash or by bank card, shift by shift."""
