"""Knowledge card data files (JSON); a package only so the files ship in wheels."""
