"""The reverse Turing test: a judge must find its twin among anonymous candidates."""
