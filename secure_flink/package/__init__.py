"""secure-flink as a Pulumi component package, for programs in any Pulumi language (provider/ hosts it).

Its components take typed dicts of plain values and PEM strings, never other components, and build the
Python components from them after the same validation.
"""
