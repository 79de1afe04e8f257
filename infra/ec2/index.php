<?php
// Demo shop front page: every visit is one access-log line for the pipeline.
$products = ['espresso-machine' => 'Espresso machine', 'grinder' => 'Burr grinder', 'kettle' => 'Gooseneck kettle'];
?><!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Demo coffee shop</title></head>
<body>
<h1>Demo coffee shop</h1>
<form action="/search.php"><input name="q" placeholder="Search"><button>Search</button></form>
<ul>
<?php foreach ($products as $id => $name): ?>
  <li><a href="/recommendation.php?product=<?= urlencode($id) ?>"><?= htmlspecialchars($name) ?></a></li>
<?php endforeach; ?>
</ul>
</body>
</html>
