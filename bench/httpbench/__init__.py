"""The HTTP benchmark's server side (bench/http_load.py): settings that serve the whole app plus two
baseline views on the same gunicorn server, and the wrk script that drives them."""
