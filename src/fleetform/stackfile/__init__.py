"""stackfile."""
