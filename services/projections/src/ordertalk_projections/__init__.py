"""Read side of ordertalk: projection workers building MongoDB read models, and the projection API."""
