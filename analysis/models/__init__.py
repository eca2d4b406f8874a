"""The models: the physics and the money of inference, as typed, vectorized functions.

``roofline`` bounds what a chip can decode; ``costs`` turns prices and throughput into cost per token;
``trends`` fits price declines; ``market`` summarizes prices, rentals and funding; ``sizing`` sizes
weights and batches, ``fractions`` summarizes measurements against their ceilings, ``sensitivity``
varies the cost's inputs and ``energy`` prices the power of a token. They read no store:
a chapter or an analysis passes them rows of it.
"""
