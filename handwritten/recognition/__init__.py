"""Recognition for people: any image in, its digits (or an honest "no digit") out."""
