"""Articles in: files, folders and web pages read into articles (the address guard decides what may
be fetched), cut into sentences and chunks with their offsets."""
