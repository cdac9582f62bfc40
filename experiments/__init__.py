"""The experiment configs that ship with ganjax (`ganjax configs` lists them)."""
