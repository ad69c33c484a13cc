// Problems of slide `index` (1-based) of a Marp deck, as shown in the browser: broken images, content outside
// the slide, code blocks that scroll or had to be shrunk below a readable size, unexpanded directives, and a
// missing speaker note timing. Returns {problems: [...], codeLinePx: smallest rendered code line height}.
(index) => {
  const problems = [];
  const section = document.querySelector(`svg.bespoke-marp-slide section[id="${index}"]`);
  if (!section) return {problems: [`no section with id ${index}`], codeLinePx: null};
  const box = section.getBoundingClientRect();
  const label = (el) => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 50)}"`;
  const inside = (el) => {
    const r = el.getBoundingClientRect();
    return r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  };
  for (const img of section.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push(`broken image ${img.getAttribute('src')}`);
  }
  for (const el of section.querySelectorAll('h1, h2, h3, p, li, table, img, pre, marp-pre')) {
    if (!inside(el)) problems.push(`outside the slide: ${label(el)}`);
  }
  let codeLinePx = null;
  for (const pre of section.querySelectorAll('pre, marp-pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) problems.push(`code block scrolls horizontally: ${label(pre)}`);
    const code = pre.querySelector('code') || pre;  // its box has no padding: height / lines = line height
    const lines = code.textContent.replace(/\n$/, '').split('\n').length;
    const px = code.getBoundingClientRect().height / lines;
    codeLinePx = codeLinePx === null ? px : Math.min(codeLinePx, px);
  }
  if (section.scrollWidth > section.clientWidth + 1) problems.push('the slide scrolls horizontally');
  for (const leftover of ['<!--', '-->', '{{ versions.', 'repo:']) {
    if (section.textContent.includes(leftover)) problems.push(`unexpanded directive text ${leftover}`);
  }
  const note = document.querySelector(`.bespoke-marp-note[data-index="${index - 1}"]`);
  if (!note || !/\[\d+(\.\d+)? min\]/.test(note.textContent)) problems.push('no speaker note with a timing [N min]');
  return {problems, codeLinePx};
}
