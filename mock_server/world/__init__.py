"""The mock's world: installed and running models, their names, keep-alives, the clock and fixture files."""
