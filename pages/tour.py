"""Tour page: a guided story of a CNN, chapter by chapter, told on the presenter's own drawing."""

from handwritten.ui import tour_chapters, tour_view
from handwritten.ui.page import setup_page

setup_page("Tour")
tour_view.init_tour()
tour_view.style()
tour_view.heading()
tour_chapters.render(tour_view.current()[1])
