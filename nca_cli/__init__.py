"""The ``nca`` command line: one dispatcher, each subcommand implemented next to the code it drives."""
