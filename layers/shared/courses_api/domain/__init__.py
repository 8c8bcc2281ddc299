"""Domain services: the product's rules (visibility, authoring, enrollment, invalidation) and the caller."""
