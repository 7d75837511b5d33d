"""Running the assistant: `make run`'s launcher (launcher.py) and the child processes it starts and supervises
(processes.py), the two ways to run them (profiles.py: embedded, production), our action server (action_server.py:
`python -m bot.run.action_server`) and the terminal chat of `make run` without a Telegram token (console.py)."""
