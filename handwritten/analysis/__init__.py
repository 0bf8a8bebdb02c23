"""Analysis for the Data and Explain pages: data statistics, model scores, network internals."""
