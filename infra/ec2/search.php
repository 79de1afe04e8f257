<?php
// Demo search: an empty query is a 400 and an unknown term a 404, so the dashboards show errors too.
$q = trim($_GET['q'] ?? '');
$catalogue = ['espresso', 'grinder', 'kettle', 'beans', 'filter'];
if ($q === '') {
    http_response_code(400);
    echo 'Missing search term';
    exit;
}
$hits = array_values(array_filter($catalogue, fn ($item) => stripos($item, $q) !== false));
if (!$hits) {
    http_response_code(404);
}
header('Content-Type: application/json');
echo json_encode(['query' => $q, 'results' => $hits]);
