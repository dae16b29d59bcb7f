#ifndef WHET_CNCURSES_SHIM_H
#define WHET_CNCURSES_SHIM_H
// Wide-character API must be switched on before curses.h is included.
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Macros Swift cannot import, wrapped as functions.
static inline int whet_color_pair(int n) { return COLOR_PAIR(n); }
static inline int whet_key_f(int n) { return KEY_F(n); }
static inline int whet_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int whet_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline WINDOW *whet_stdscr(void) { return stdscr; }
static inline int whet_colors(void) { return COLORS; }
static inline int whet_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t whet_a_bold(void) { return A_BOLD; }
static inline attr_t whet_a_underline(void) { return A_UNDERLINE; }
static inline attr_t whet_a_reverse(void) { return A_REVERSE; }
static inline attr_t whet_a_dim(void) { return A_DIM; }
static inline attr_t whet_a_italic(void) { return A_ITALIC; }
static inline int whet_a_normal(void) { return A_NORMAL; }

// Mouse masks are built by function-like macros Swift cannot import.
static inline mmask_t whet_mouse_mask_all(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }
static inline mmask_t whet_mouse_report_position(void) { return REPORT_MOUSE_POSITION; }
/// Button (1–5) pressed / released / clicked bits of a mouse state.
static inline int whet_mouse_pressed(mmask_t s, int b) { return (s & NCURSES_MOUSE_MASK(b, NCURSES_BUTTON_PRESSED)) != 0; }
static inline int whet_mouse_released(mmask_t s, int b) { return (s & NCURSES_MOUSE_MASK(b, NCURSES_BUTTON_RELEASED)) != 0; }
static inline int whet_mouse_clicked(mmask_t s, int b) { return (s & (NCURSES_MOUSE_MASK(b, NCURSES_BUTTON_CLICKED) | NCURSES_MOUSE_MASK(b, NCURSES_DOUBLE_CLICKED) | NCURSES_MOUSE_MASK(b, NCURSES_TRIPLE_CLICKED))) != 0; }
static inline int whet_mouse_modifiers(mmask_t s) {
    return ((s & BUTTON_CTRL) ? 1 : 0) | ((s & BUTTON_ALT) ? 2 : 0) | ((s & BUTTON_SHIFT) ? 4 : 0);
}

// setcchar with an extended (int) colour pair, so more than 32767 pairs work.
static inline int whet_setcchar(cchar_t *c, const wchar_t *w, attr_t a, int pair) {
    return setcchar(c, w, a, 0, &pair);
}
// newterm on the process's own stdin/stdout (Swift 6 refuses the C globals).
static inline SCREEN *whet_newterm(const char *term) { return newterm(term, stdout, stdin); }
#endif
