# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/render'

describe PuppetX::Autoami::Render do
  describe '.text' do
    it 'shows a missing value as -, a list joined by commas and anything else as is' do
      expect([nil, %w[a b], 3, true, 'x'].map { |value| described_class.text(value) }).to eq(['-', 'a,b', '3', 'true', 'x'])
    end

    it 'shows a map as key=value pairs, and an empty one as -' do
      images = { 'us-east-1' => 'ami-0abc1234', 'eu-west-1' => 'ami-0def5678' }
      expect([images, {}].map { |value| described_class.text(value) }).to eq(['us-east-1=ami-0abc1234,eu-west-1=ami-0def5678', '-'])
    end
  end

  describe '.table' do
    columns = [{ 'key' => 'name', 'heading' => 'NAME' }, { 'key' => 'image', 'heading' => 'IMAGE' }, { 'key' => 'note', 'heading' => 'NOTE' }]

    it 'pads every column to its widest cell, two spaces apart, with no trailing blanks' do
      rows = [{ 'name' => 'wordpress', 'image' => 'ami-0abc1234' }, { 'name' => 'db', 'image' => nil, 'note' => 'x' }]
      expect(described_class.table(rows, columns, 'no groups')).to eq(
        "NAME       IMAGE         NOTE\n" \
        "wordpress  ami-0abc1234  -\n" \
        'db         -             x',
      )
    end

    it 'says the empty text when there are no rows' do
      expect(described_class.table([], columns, 'no groups')).to eq('no groups')
      expect(described_class.table(nil, columns, 'no groups')).to eq('no groups')
    end
  end

  describe '.record' do
    it 'lines keys up' do
      expect(described_class.record('name' => 'web', 'concurrency' => 2, 'tags' => %w[a b])).to eq(
        "name         web\n" \
        "concurrency  2\n" \
        'tags         a,b',
      )
    end

    it 'shows a result that is not a mapping as text' do
      expect(described_class.record(nil)).to eq('-')
      expect(described_class.record('done')).to eq('done')
    end
  end

  describe '.message' do
    it "fills the format's %{key} from the result" do
      expect(described_class.message({ 'name' => 'web', 'image' => 'ami-1' }, 'Created group %{name} from %{image}')).to eq('Created group web from ami-1')
    end

    it 'shows a map in the result as a table cell does' do
      result = { 'name' => 'web', 'images' => { 'us-east-1' => 'ami-1', 'eu-west-1' => 'ami-2' } }
      expect(described_class.message(result, '%{name}: %{images}')).to eq('web: us-east-1=ami-1,eu-west-1=ami-2')
    end
  end

  describe '.progress' do
    it 'prints the line of a progress notification at once' do
      expect { described_class.progress('line' => 'launching i-0123abcd') }.to output("launching i-0123abcd\n").to_stdout
    end

    it 'prints nothing for a notification without a line' do
      expect { described_class.progress({}) }.not_to output.to_stdout
      expect { described_class.progress('text') }.not_to output.to_stdout
    end
  end
end
