"""What both flows read text with: words, stems and the language of a text, and the BM25 index."""
