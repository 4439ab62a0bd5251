"""Pages shared by every domain: the operations home, layout helpers."""
