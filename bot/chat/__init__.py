"""Messages as every channel and the conversation service exchange them: types, numbered choices."""
