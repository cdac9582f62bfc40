"""The ablation-study sweep configs that ship with ganjax (`ganjax configs` lists them)."""
