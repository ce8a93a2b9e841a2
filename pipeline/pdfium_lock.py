"""The one lock every PDFium call in the process holds.

PDFium is not thread-safe, not even across documents (pypdfium2's docs: concurrent calls crash or
corrupt the process), and this process reads pages in threads (the flows' task runner, OCRmyPDF's
workers, the review app's request pool): one lock for all of them, since a lock per module would
still let two modules call PDFium at once. (Without it a 300-page scan failed 2 runs in 3 with
PdfiumError; OCRmyPDF's rasterizer hook opening a second document from its threads corrupted PDFium
for the rest of the process: every later file failed with "Data format error".)
"""
import threading

LOCK = threading.Lock()
