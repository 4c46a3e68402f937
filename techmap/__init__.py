"""techmap: a public, geolocated database of where technology companies operate abroad."""
