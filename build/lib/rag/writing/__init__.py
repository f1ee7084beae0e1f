"""Written answers: a language model writes from the passages, and every quote it makes is checked
against the articles before it is shown."""
