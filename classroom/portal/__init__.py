"""The class portal: participants claim seats, the instructor watches the room (app.py)."""
