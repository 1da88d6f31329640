"""Usage and cost: categories, figures, exports."""
