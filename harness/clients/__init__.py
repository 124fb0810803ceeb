"""One small client per control surface. Each returns values or raises `ControlError` (or a subclass
named for its surface); none asserts. A new surface is one module here with a class on `JsonClient`."""
