"""The API's views: thin, they validate input with api.serializers, call api.selectors and
serialize the answer. Errors are raised and rendered by api.errors."""
