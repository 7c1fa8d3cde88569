"""The ``odyssee`` command line: a thin shell over the domain and db functions."""
