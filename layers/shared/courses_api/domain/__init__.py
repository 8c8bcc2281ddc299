"""Domain: models, errors, the caller and the services that apply the product's rules."""
