"""What the model says: the default answerer, values that satisfy a schema, and how an answer ends.

A request becomes an `Ask`; the answerer gives a `Reply` (the whole answer); `transcribe` turns it
into the tokens the model emits under the request's `num_predict` and `stop`, with the reason it ended.
"""
