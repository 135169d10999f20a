"""Open311 GeoReport v2 (docs/open311.md): gridloop's categories as services and its reports as
service requests, for other programs (a city's app, a kiosk, a 12345 hotline's system).

- formats.py: an answer as JSON or as GeoReport's XML, and its errors;
- mapping.py: categories, the grid's places and cases in GeoReport's terms, in Chinese or English;
- forms.py: a request's form and query read into what intake takes and what a list asks for;
- api.py: each endpoint, over the services the handlers pass in.

Pure except api.py, which calls the services the JSON routes call (intake, look-ups, the keys).
Imported by the Open311 routes only, on their first request: `import app` stays lean.
"""
