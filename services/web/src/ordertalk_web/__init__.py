"""Web screens of the order messages: admin panel and storefront pages served as static HTML/JS."""
