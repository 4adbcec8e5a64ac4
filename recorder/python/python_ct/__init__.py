"""Tools for CodeTracer trace folders written by python-ct.

trace_check  validates a trace folder (also: python -m python_ct.trace_check)
trace_model  loads a trace folder into steps, calls and events
ctfs         reads a trace.ct (CODETRACER_FORMAT=ctfs; also: python -m
             python_ct.ctfs), needs zstandard and cbor2
"""
