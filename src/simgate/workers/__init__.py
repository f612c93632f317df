"""Background workers started with the app: dispatcher, report writer, webhook sender."""
